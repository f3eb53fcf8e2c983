"""PhotoCLIP: a local photo organizer that searches your photos in plain language."""

__version__ = "0.1.0"
