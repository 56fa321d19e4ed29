"""The Restore page: queue, model picker, options and the before/after viewer."""
