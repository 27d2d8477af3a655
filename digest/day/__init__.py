"""One digest date: its state (DayState), the pure plan of what to ask next, and the verdict of a command."""
