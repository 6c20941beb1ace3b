"""Audiences: RulesJson criteria (rules.py, catalog.py) compiled to SQL (compiler.py) for
segments and campaign recipients (service.py); subscriber tags, defined per list and put on its
subscribers (subscriber_tags.py), which criteria can test."""
