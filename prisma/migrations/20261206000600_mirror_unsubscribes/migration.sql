-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "mirrorUnsubscribes" BOOLEAN NOT NULL DEFAULT false;

