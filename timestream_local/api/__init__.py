"""The API handlers, one module per Timestream API (see ../README.md for the map).

Each handler takes a call's parameters, asks the domain (or, for queries, the query engine) and
answers the AWS-shaped dict: write.py (timestream-write), query.py (timestream-query), endpoints.py
(DescribeEndpoints, which both have). Scheduled queries and batch load get modules of their own
beside these. Which action goes to which handler is urls.py's table.
"""
