from django.apps import AppConfig


class CapabilitiesAppConfig(AppConfig):
    name = "capabilities_app"
    verbose_name = "Capabilities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        pass
