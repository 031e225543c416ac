terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

# Credentials come from the environment of whoever runs terraform (an SSO
# session, a role assumed by CI): none are written in these files.
provider "aws" {
  region = var.aws_region
}
