"""Rendering on a Ray cluster: the same render jobs, their units spread over Ray workers (issue 22).

address.py parses `--cluster` (no Ray); session.py connects and starts the worker actors (worker.py), once per
process; units.py cuts a render along its plan's seams; scheduler.py hands units to idle workers and re-runs a
dead worker's units; cluster_cache.py is the client's frame cache that waits for scheduled keys, so the ordinary
render job streams the workers' frames in order; cluster_render.py ties them to the render job.
"""
