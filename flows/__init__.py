"""Prefect flows that orchestrate the tarjama library; no domain logic lives here."""
