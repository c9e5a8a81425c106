"""Every rerank user class in the registry: pick one in the web UI (--class-picker) or name it on the CLI."""

from rankperf_data.load.users import USER_CLASSES

globals().update(USER_CLASSES)  # Locust finds the user classes among this module's names
__all__ = list(USER_CLASSES)
