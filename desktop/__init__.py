"""RestoreLab front-ends: the Qt window and the `restorelab` command line.

Nothing here imports torch at module level: the window must show before the
engine warms up, and headless commands must run where Qt is absent.
"""
