"""A setuptools shim for tools that still look for setup.py (``python setup.py --name``,
older pip and IDEs).  All metadata, dependencies and package data live in pyproject.toml;
add nothing here."""
from setuptools import setup

setup()
