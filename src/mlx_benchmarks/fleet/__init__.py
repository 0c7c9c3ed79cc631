"""A fleet of machines on Ray: ``mlx-bench sweep FILE --ray ADDRESS`` runs each cell as one Ray task.

- ``labels``: a node's labels from its own ``mlx-bench system``, ``where`` matching, the ``ray start`` line;
- ``cells``: a sweep file as cells (suite × options × target), each with its run key and placement;
- ``node``: what a node does with one cell (run, store locally, publish to the lake);
- ``driver``: the head: place, submit, watch (live table), retry, report.

Ray is imported only by ``driver`` and only when a fleet is used (the ``[fleet]`` extra).
"""
