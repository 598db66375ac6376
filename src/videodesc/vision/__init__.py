"""Seeing the picture: faces and characters (more detectors follow: text, objects, tags)."""
