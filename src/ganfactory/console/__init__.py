"""`ganfactory console`: a local web console to watch jobs, look at runs, curate generated images and paint
DatasetGAN masks. Pages and static files only; the work is done by the library (jobs, curation, export)."""
