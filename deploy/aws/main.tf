# Autoscaled, ephemeral GitHub Actions runners for camino on EC2 spot
# instances, with the terraform-aws-github-runner module. GitHub sends a
# workflow_job webhook; the module's lambda starts one spot instance per
# queued job, registers it with a just-in-time configuration for that one
# job, and the instance terminates itself when the job ends.
#
# The runners carry the labels self-hosted, linux, x64 and camino, so both
# `runs-on: camino` and `runs-on: [self-hosted, camino]` reach them.

data "aws_partition" "current" {}

locals {
  s3               = "arn:${data.aws_partition.current.partition}:s3:::"
  artifacts_bucket = coalesce(var.artifacts_bucket, var.store_bucket)
}

# What a runner may do with S3, and nothing else: read the internal data
# (the playbooks' hidden splits) under one prefix, and write evaluation
# artifacts under another. The runner gets these through its instance
# role: short-lived credentials from the instance metadata service, no keys.
data "aws_iam_policy_document" "camino_store" {
  statement {
    sid       = "ReadInternalData"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.s3}${var.store_bucket}/${var.internal_prefix}/*"]
  }

  # Listing only under the internal prefix: enough to find a playbook's
  # files and their versions, not to see the rest of the bucket.
  statement {
    sid       = "ListInternalPrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = ["${local.s3}${var.store_bucket}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.internal_prefix, "${var.internal_prefix}/*"]
    }
  }

  statement {
    sid       = "WriteArtifacts"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.s3}${local.artifacts_bucket}/${var.artifacts_prefix}/*"]
  }
}

resource "aws_iam_policy" "camino_store" {
  name        = "${var.prefix}-store"
  description = "camino runners: read the internal store prefix, write artifacts"
  policy      = data.aws_iam_policy_document.camino_store.json
  tags        = var.tags

  lifecycle {
    # Write access that reached into the internal prefix would let one
    # submission's job overwrite the data every other one is scored on.
    precondition {
      condition = (
        local.artifacts_bucket != var.store_bucket ||
        !(startswith("${var.artifacts_prefix}/", "${var.internal_prefix}/") ||
        startswith("${var.internal_prefix}/", "${var.artifacts_prefix}/"))
      )
      error_message = "artifacts_prefix must not overlap internal_prefix in the same bucket."
    }
  }
}

module "runners" {
  source  = "github-aws-runners/github-runner/aws"
  version = "7.11.0"

  aws_region = var.aws_region
  vpc_id     = var.vpc_id
  subnet_ids = var.subnet_ids
  prefix     = var.prefix
  tags       = var.tags

  # A GitHub App registers the runners and receives the workflow_job
  # webhook; the module keeps its key in SSM Parameter Store.
  github_app = {
    id             = var.github_app_id
    key_base64     = var.github_app_key_base64
    webhook_secret = var.github_webhook_secret
  }
  enable_organization_runners = var.enable_organization_runners

  # The module's three lambdas, from the release matching `version` above
  # (README.md: where to download them). Nothing is fetched at apply time.
  webhook_lambda_zip                = "${var.lambda_zip_dir}/webhook.zip"
  runners_lambda_zip                = "${var.lambda_zip_dir}/runners.zip"
  runner_binaries_syncer_lambda_zip = "${var.lambda_zip_dir}/runner-binaries-syncer.zip"

  # One job per instance, registered just in time for that job; the
  # instance terminates when the job ends. Nothing a submission leaves on
  # disk, in memory or in a cache reaches the next one.
  enable_ephemeral_runners = true
  enable_jit_config        = true
  delay_webhook_event      = 0
  runners_maximum_count    = var.max_runners
  runner_extra_labels      = ["camino"]

  # Spot, over several 2-vCPU types so one sold-out pool does not stall the
  # queue; on-demand only when no spot capacity is left at all.
  instance_target_capacity_type               = "spot"
  instance_allocation_strategy                = "price-capacity-optimized"
  instance_types                              = var.instance_types
  enable_runner_on_demand_failover_for_errors = ["InsufficientInstanceCapacity"]
  create_service_linked_role_spot             = var.create_service_linked_role_spot

  # The instance role the module creates gets the store policy above. The
  # module adds what the runner itself needs (its SSM parameters, and
  # terminating its own instance).
  runner_iam_role_managed_policy_arns = [aws_iam_policy.camino_store.arn]

  # IMDSv2 only, one hop: the role's credentials are served to processes on
  # the instance, not to anything a hop further (camino's sandbox has no
  # network at all).
  runner_metadata_options = {
    instance_metadata_tags      = "enabled"
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # Ubuntu 24.04 from Canonical, set up by templates/user-data.sh; the
  # camino part (bubblewrap, the AppArmor switch, Python 3.11, uv) is the
  # fragment templates/camino-setup.sh.
  runner_os           = "linux"
  runner_architecture = "x64"
  runner_run_as       = "ubuntu"
  ami = {
    filter = {
      name  = ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"]
      state = ["available"]
    }
    owners = ["099720109477"] # Canonical
  }
  enable_userdata      = true
  userdata_template    = "${path.module}/templates/user-data.sh"
  userdata_pre_install = file("${path.module}/templates/camino-setup.sh")
  # The module's CloudWatch agent setup is written for Amazon Linux.
  enable_cloudwatch_agent = false
  # No shell access to runners: a runner only ever runs its one job.
  enable_ssm_on_runners = false

  block_device_mappings = [{
    device_name           = "/dev/sda1" # Ubuntu's root device
    volume_size           = var.volume_size_gib
    volume_type           = "gp3"
    encrypted             = true
    delete_on_termination = true
  }]

  logging_retention_in_days = var.logging_retention_in_days
}
