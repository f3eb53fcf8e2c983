"""PhotoCLIP: a local photo organizer that searches your photos in plain language."""

from photoclip.privacy import disable_telemetry

__version__ = "0.1.0"

# Before any dependency is imported: nothing leaves the computer unless the user asks.
disable_telemetry()
