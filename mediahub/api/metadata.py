from rest_framework.metadata import SimpleMetadata


class ApiMetadata(SimpleMetadata):
    """``OPTIONS`` answers the view's name, description and formats (and the ``Allow`` header).

    Request fields are described by the OpenAPI schema instead: DRF's field listing instantiates
    the view's serializer, which views that take no body do not have.
    """

    def determine_actions(self, request, view) -> dict:
        return {}
