"""Writing descriptions: candidates per slot from a writer backend, then selection and fitting."""
