"""The UI-free download engine. Nothing here may import Textual or Rich."""
