"""The Qt window and its views: they show a core Trace and never compute."""
