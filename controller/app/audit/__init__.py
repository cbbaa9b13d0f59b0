"""The log's audit from the shell: signed anchors of its head, their keys, verification."""
