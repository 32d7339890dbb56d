"""Run many join workflows and one control plane in simulated time (the SimPy driver, DESIGN rule 2).

The modules here are the engine's models, each small, named and documented
with Kubernetes defaults: ``units`` (durations and rates as scenarios write
them), ``latency`` (per-link delay distributions), ``network`` (hosts, links,
firewalls, partitions, interception, with Go's dial errors), ``tokenbucket``
(client-go's rate limiter), ``apf`` (API Priority and Fairness seats and
queues) and ``costs`` (the CPU cost table). They are pure and deterministic:
time is an argument and randomness comes from a passed-in ``random.Random``,
so each is unit-tested without SimPy. The SimPy processes that put them
together (nodes, the API server, the controllers) are still to be written.
"""
