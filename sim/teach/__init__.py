"""Helpers for the teaching notebooks: trace a join, draw it, and read certificates as a person would.

``trace`` records every API call and local step of in-process joins;
``sequence`` and ``timeline`` draw them (matplotlib is imported only when
drawing); ``x509text`` describes certificates and CSRs field by field;
``openssl`` checks a CA pin with the openssl command line when it exists.
"""

from sim.teach.openssl import OPENSSL_PIN_PIPELINE, openssl_pin, openssl_text
from sim.teach.sequence import draw_sequence
from sim.teach.timeline import Span, Tick, draw_timeline
from sim.teach.trace import Call, Event, Step, TracingHarness, credential_of, short_path
from sim.teach.x509text import describe_certificate, describe_csr, format_rows

__all__ = [
    "OPENSSL_PIN_PIPELINE", "Call", "Event", "Span", "Step", "Tick", "TracingHarness", "credential_of",
    "describe_certificate", "describe_csr", "draw_sequence", "draw_timeline", "format_rows", "openssl_pin",
    "openssl_text", "short_path",
]
