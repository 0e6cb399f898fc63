"""The FIX dictionaries (QuickFIX XML, see LICENSE.quickfix) and the rules of engagement.

A package only so that the files ship as package data: gateway.fix.dictionary reads
them with importlib.resources, from a checkout and from an installed wheel alike.
"""
