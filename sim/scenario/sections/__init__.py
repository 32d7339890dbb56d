"""Describe each section of a scenario file in a module of its own (the table is ``sim.scenario.schema``)."""
