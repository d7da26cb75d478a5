"""The one exception of the comparison tool."""


class CompareError(Exception):
    """Bad input; ``main`` prints it as one line and exits with status 2."""
