"""MLflow records: searches and evaluations, written and read back."""
