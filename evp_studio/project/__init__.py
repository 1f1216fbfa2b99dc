"""The project document: model dataclasses, commands and undo history, JSON files, autosave.

Qt-free. The GUI and the CLI hold a :class:`Document`, call its verb_noun methods (each one
undo step) and subscribe to its psygnal signals.
"""

from evp_studio.project.autosave import Autosaver, RecoveryCandidate
from evp_studio.project.commands import (
    AddKeyframe,
    RelinkMedia,
    RemoveKeyframe,
    RenameProject,
    ReplaceKeyframe,
    SetEmotionSource,
    SetReference,
    SetRenderSettings,
    SetSpeech,
    SetTarget,
)
from evp_studio.project.document import Document
from evp_studio.project.history import Changes, Command, CommandStack, MacroCommand
from evp_studio.project.io import (
    PROJECT_SUFFIX,
    SCHEMA_VERSION,
    load_project,
    migrate,
    project_from_dict,
    project_to_dict,
    save_project,
)
from evp_studio.project.media_ref import MediaRef, MediaStatus, check_media, hash_media
from evp_studio.project.model import (
    EMOTIONS,
    NEUTRAL_INDEX,
    RENDERERS,
    X264_PRESETS,
    Easing,
    EmotionSource,
    EmotionTrack,
    Keyframe,
    MediaRole,
    Project,
    ReferenceClip,
    RenderSettings,
    SpeechTrack,
    TargetVideo,
    new_key_id,
)

__all__ = [
    "EMOTIONS",
    "NEUTRAL_INDEX",
    "PROJECT_SUFFIX",
    "RENDERERS",
    "SCHEMA_VERSION",
    "X264_PRESETS",
    "AddKeyframe",
    "Autosaver",
    "Changes",
    "Command",
    "CommandStack",
    "Document",
    "Easing",
    "EmotionSource",
    "EmotionTrack",
    "Keyframe",
    "MacroCommand",
    "MediaRef",
    "MediaRole",
    "MediaStatus",
    "Project",
    "RecoveryCandidate",
    "ReferenceClip",
    "RelinkMedia",
    "RemoveKeyframe",
    "RenameProject",
    "RenderSettings",
    "ReplaceKeyframe",
    "SetEmotionSource",
    "SetReference",
    "SetRenderSettings",
    "SetSpeech",
    "SetTarget",
    "SpeechTrack",
    "TargetVideo",
    "check_media",
    "hash_media",
    "load_project",
    "migrate",
    "new_key_id",
    "project_from_dict",
    "project_to_dict",
    "save_project",
]
