variable "aws_region" {
  description = "AWS region of the runners, their lambdas and (ideally) the store bucket."
  type        = string
}

variable "prefix" {
  description = "Prefix of every resource's name."
  type        = string
  default     = "camino"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_id" {
  description = "VPC of the runners."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the runners, in different availability zones (more spot pools). They need a route to GitHub and to S3: a NAT gateway, or public subnets."
  type        = list(string)
}

variable "github_app_id" {
  description = "ID of the GitHub App that registers the runners (README.md)."
  type        = string
}

variable "github_app_key_base64" {
  description = "The GitHub App's private key, base64-encoded (`base64 -w0 app.pem`)."
  type        = string
  sensitive   = true
}

variable "github_webhook_secret" {
  description = "The secret the GitHub App signs its workflow_job webhooks with."
  type        = string
  sensitive   = true
}

variable "enable_organization_runners" {
  description = "Register the runners with the organization instead of the one repository."
  type        = bool
  default     = false
}

variable "lambda_zip_dir" {
  description = "Folder holding webhook.zip, runners.zip and runner-binaries-syncer.zip of the module's release (README.md)."
  type        = string
  default     = "lambdas"
}

variable "max_runners" {
  description = "Most runners (instances) at once; one job each. Jobs beyond it wait in GitHub's queue."
  type        = number
  default     = 20

  validation {
    condition     = var.max_runners >= 1
    error_message = "max_runners must be at least 1."
  }
}

variable "instance_types" {
  description = "Spot instance types to choose from: 2 vCPUs each (a playbook evaluation is sized for 2 CPUs and 4 GiB)."
  type        = list(string)
  default = [
    "c7a.large", "c6a.large", "c7i.large", "c6i.large", "c5.large",
    "m7a.large", "m6a.large", "m7i.large", "m6i.large", "m5.large",
  ]

  validation {
    condition     = alltrue([for t in var.instance_types : endswith(t, ".large")])
    error_message = "Use .large types: 2 vCPUs, the size camino's runners are planned for."
  }
}

variable "create_service_linked_role_spot" {
  description = "Create the EC2 Spot service-linked role (once per account; false if it exists)."
  type        = bool
  default     = true
}

variable "volume_size_gib" {
  description = "Root volume of a runner, GiB (Ubuntu, the runner, camino's environments)."
  type        = number
  default     = 30
}

variable "logging_retention_in_days" {
  description = "How long the lambdas' logs are kept."
  type        = number
  default     = 30
}

variable "store_bucket" {
  description = "S3 bucket of camino's internal store (CAMINO_INTERNAL_STORE = s3://store_bucket/internal_prefix)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.store_bucket))
    error_message = "store_bucket must be an S3 bucket name."
  }
}

variable "internal_prefix" {
  description = "Prefix of the internal data in store_bucket; runners may only read below it. No leading or trailing slash."
  type        = string

  validation {
    condition     = can(regex("^[^/*]+(/[^/*]+)*$", var.internal_prefix))
    error_message = "internal_prefix must be a non-empty key prefix without leading or trailing slash or '*'."
  }
}

variable "artifacts_bucket" {
  description = "S3 bucket for evaluation artifacts; null means store_bucket."
  type        = string
  default     = null
}

variable "artifacts_prefix" {
  description = "Prefix of the artifacts; runners may only write below it. No leading or trailing slash."
  type        = string

  validation {
    condition     = can(regex("^[^/*]+(/[^/*]+)*$", var.artifacts_prefix))
    error_message = "artifacts_prefix must be a non-empty key prefix without leading or trailing slash or '*'."
  }
}
