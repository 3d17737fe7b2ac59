"""Campaigns: what organisers raise money for, their review, updates and public pages."""
