from django.apps import AppConfig


class CapabilitiesAppConfig(AppConfig):
    name = "capabilities_app"
    verbose_name = "Capabilities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from capabilities_app import checks  # noqa: F401 - registers the system checks
        from capabilities_app.access import clients  # noqa: F401 - key changes move the clients stamp

        # The Celery tasks, registered in every process: ``jobs.submit`` publishes them by
        # name, and eager mode (no broker) runs the registered task in place.
        from capabilities_app.jobs import tasks  # noqa: F401
