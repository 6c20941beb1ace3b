"""Audiences: RulesJson criteria (rules.py, catalog.py) compiled to SQL (compiler.py) for
segments and campaign recipients (service.py)."""
