// placeholder: filled in by the runtime work (issue 3)
