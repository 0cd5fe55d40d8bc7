from rest_framework import serializers

from api.models import Space


class SpaceSerializer(serializers.ModelSerializer):
    has_background = serializers.BooleanField(read_only=True)

    class Meta:
        model = Space
        fields = (
            "space_id",
            "name",
            "description",
            "metadata",
            "has_background",
            "created_at",
            "updated_at",
        )


class SpaceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=200, trim_whitespace=False)
    description = serializers.CharField(
        max_length=10_000, allow_null=True, allow_blank=True, required=False, default=None
    )
    metadata = serializers.DictField(required=False, default=dict)
