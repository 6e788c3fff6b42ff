"""Results as plain data: trial rows, the trade-off between measures, selection, figures."""
