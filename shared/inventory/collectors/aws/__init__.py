"""The AWS collector (boto3): the declaration language (declare), shaping helpers (shaping), one
module of resource types per AWS service, all of them (services), and the engine that lists them
(engine)."""
