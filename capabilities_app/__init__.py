"""capabilities_app: the capability store, its importer and exporter, and the admin."""
