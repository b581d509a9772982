from django.apps import AppConfig


class CapabilitiesAppConfig(AppConfig):
    name = "capabilities_app"
    verbose_name = "Capabilities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The Celery tasks, registered in every process: ``jobs.submit`` publishes them by
        # name, and eager mode (no broker) runs the registered task in place.
        from capabilities_app.jobs import tasks  # noqa: F401
