"""Scripted scenarios: the file format, its steps and the runner on a simulated clock."""
