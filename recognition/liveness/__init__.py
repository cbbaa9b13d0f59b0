"""Presentation-attack detection: a passive network per frame and checks across the frames of one attempt.

Only ``network`` and ``passive`` import torch; everything else here is NumPy and OpenCV.
"""
