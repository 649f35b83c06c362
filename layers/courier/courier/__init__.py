"""Courier: the shared layer of the serverless instant-messaging backend.

Layer modules log through `logging.getLogger(__name__)`, children of the `courier`
logger, which is the handlers' Powertools Logger (POWERTOOLS_SERVICE_NAME=courier):
their records come out as the same structured JSON, with the invocation's keys.
"""
