"""The REST surface: DRF views that translate HTTP into one runtime call and back."""
