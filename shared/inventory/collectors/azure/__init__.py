"""The Azure collector (Resource Graph plus ARM detail GETs): the declaration language (declare),
one module of resource types per Azure service, all of them (services), and the engine that lists
them and shapes uploaded exports (engine)."""
