"""Helpers for the teaching notebooks: trace a join, draw it, and read certificates and errors as a person would.

``trace`` records every API call and local step of in-process joins, and
``engine_trace`` turns a simulation run's event log into the same records;
``sequence`` and ``timeline`` draw them, and ``matrix`` draws outcome tables
(matplotlib is imported only when drawing); ``x509text`` describes
certificates and CSRs field by field; ``errors`` takes kubeadm's error
chains apart; ``storm`` reduces a join storm to capacity numbers;
``openssl`` checks a CA pin with the openssl command line when it exists.
"""

from sim.teach.engine_trace import trace_of
from sim.teach.errors import Layer, Reading, read_error
from sim.teach.matrix import Cell, draw_matrix
from sim.teach.openssl import OPENSSL_PIN_PIPELINE, openssl_pin, openssl_text
from sim.teach.sequence import draw_sequence
from sim.teach.storm import Storm, join_times, storm_of
from sim.teach.timeline import Span, Tick, draw_timeline
from sim.teach.trace import Call, Event, Step, TracingHarness, credential_of, short_path
from sim.teach.x509text import describe_certificate, describe_csr, format_rows

__all__ = [
    "OPENSSL_PIN_PIPELINE", "Call", "Cell", "Event", "Layer", "Reading", "Span", "Step", "Storm", "Tick",
    "TracingHarness", "credential_of", "describe_certificate", "describe_csr", "draw_matrix", "draw_sequence",
    "draw_timeline", "format_rows", "join_times", "openssl_pin", "openssl_text", "read_error", "short_path",
    "storm_of", "trace_of",
]
