"""Fine-tuning an embedder on a folder-per-identity dataset, evaluated on identities it never saw.

Modules, in the order a run uses them: ``data`` (list identities, fingerprint), ``preprocess``
(detect + align with the project's own code, cached on disk), ``split`` (by identity), ``heads``
(softmax and ArcFace), ``augment``, ``config``, ``optim`` (optimiser, scheduler, freezing),
``metrics`` (verification on unseen identities), ``checkpoint``, ``trainer`` and ``run`` (the whole job).
"""
