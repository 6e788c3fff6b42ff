"""The image modality: image data, timm backbones, torchvision v2 transforms."""
