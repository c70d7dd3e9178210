"""Serving: the TF-Serving-compatible model server and the recommendation service.

Not built yet (issue 6).
"""
