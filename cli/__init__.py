"""The approvals command line."""
