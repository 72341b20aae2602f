"""Rendering on a Ray cluster: the same render jobs, their units spread over Ray workers (issue 22)."""
