"""Budget allocation, needs matching and mentor matching (issues #3 and #4; not built yet)."""
