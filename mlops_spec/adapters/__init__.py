"""One module per outside library; each imported only by the runtime, never by spec/plan."""
